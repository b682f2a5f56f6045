// The Imaging module; see DESIGN.md for what it holds.
