"""How the local backend runs jobs: records, input and output binding, processes and the runner.

The operation groups (``operations/_job_operations.py``) resolve and record a job; a detached
runner process (``_runner.py``) executes it, so a job outlives the notebook kernel that submitted
it, as on Azure.
"""
