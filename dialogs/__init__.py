"""The intent layer: NLU and the dialogue engine."""
