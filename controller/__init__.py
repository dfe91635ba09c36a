"""Pure signal-timing logic: phase model, measurements interface, safety guard, control policies.

Never imports traci, libsumo, serial or onnxruntime; time is passed in.
"""
