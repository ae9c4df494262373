"""Choices shared by pages: a test sample, a dataset, the student's own input, a map's controls, units of a layer,
a table of runs."""
