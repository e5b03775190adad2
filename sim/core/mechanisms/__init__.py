"""One module per mechanism; each sets up from the model and acts once per day."""
