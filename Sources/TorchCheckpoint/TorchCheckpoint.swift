// The TorchCheckpoint module; see DESIGN.md for what it holds.
