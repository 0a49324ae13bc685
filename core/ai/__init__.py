"""The AI layer: device choice, model manifests, one inference engine, and classical fallbacks.

Nothing here imports torch or OpenCV at module import time: the app imports these modules at
start-up and must launch fast. Heavy modules are imported inside the functions that need them.
"""
