"""360Dialog protocol code: no Django models, only values in and values out."""
