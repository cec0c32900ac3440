"""exposition"""
