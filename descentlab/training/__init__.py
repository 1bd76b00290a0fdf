"""The training layer: what several experiments share (the supervised loop, MNIST's settings, splits,
network and evaluation, the landscape figures), so that an experiment module imports no other."""
