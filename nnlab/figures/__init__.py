"""Figures: pure builders from analysis records to plotly `go.Figure`s (never `.show()`).

Signed data on a diverging scale centred on zero, non-negative data on a sequential
scale, images sent as uint8/PNG. One module per view, matching `nnlab.analysis`.
"""
