"""Training: windows and batches, the training engine (fit, early stopping,
checkpoints, resume), and full-sequence forecasting."""
