"""data_quality"""
