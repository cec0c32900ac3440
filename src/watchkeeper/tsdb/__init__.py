"""tsdb"""
