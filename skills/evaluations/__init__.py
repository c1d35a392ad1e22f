"""Datasets of examples, and evaluations of skill versions against them."""
