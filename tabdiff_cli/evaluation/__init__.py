"""Judging a generated table against the real one: metrics (shape, trend, detection, utility, privacy) and
figures. Reads tables only: never imports the model (diffusion/, engine/)."""
