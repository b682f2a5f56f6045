// The SafeTensors module; see DESIGN.md for what it holds.
