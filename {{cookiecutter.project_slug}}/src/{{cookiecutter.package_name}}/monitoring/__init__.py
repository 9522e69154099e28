"""`mlops monitor`: is new data still the data the champion was trained on, and is the champion
still as good on it as promote measured."""
