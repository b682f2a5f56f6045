// The PanopticFPN module; see DESIGN.md for what it holds.
