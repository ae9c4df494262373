"""Analysis: pure functions from run arrays to small records of numpy arrays (no plotting, no streamlit).

One module per view: `data` (datasets page), `layers` and `classes` (inside the network),
`weights` and `boundary` (learning over time).
"""
