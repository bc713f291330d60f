"""Edge maps of uploaded images: a 3x3 kernel and a threshold, both from the model file."""
