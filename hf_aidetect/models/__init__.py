"""Models: the report's seed CNN as transformers classes, and ViT / any AutoModelForImageClassification."""
