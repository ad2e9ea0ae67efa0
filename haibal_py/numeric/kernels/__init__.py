"""Pure NumPy kernels: functions of arrays with no knowledge of nodes or graphs."""
