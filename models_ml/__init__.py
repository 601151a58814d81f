"""models_ml"""
