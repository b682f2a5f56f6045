// The Panoptic module; see DESIGN.md for what it holds.
