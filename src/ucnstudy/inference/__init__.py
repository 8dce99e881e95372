"""Inferring user activity from traffic, and evaluating it against ground truth."""
