"""Renderers: a plan, a report or a graph in, text out. No I/O."""
