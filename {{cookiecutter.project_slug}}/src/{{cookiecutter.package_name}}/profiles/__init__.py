"""What the training data looked like, kept with the model: the reference `mlops monitor` compares
new data with, so the runner never needs the training table."""
