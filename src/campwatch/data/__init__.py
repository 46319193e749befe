"""Data campwatch makes: the synthetic sample series (as ``skimage.data`` holds sample images)."""
