"""Tests of the photo normalisation and archive reading, on generated images only."""
