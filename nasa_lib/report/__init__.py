"""Figures and tables of the reports, drawn from the pipeline's outputs."""
