"""Start azureml-inference-server-http on 127.0.0.1 only.

The server binds 0.0.0.0 and has no option for the host: this launcher, run with the inference
environment's Python, sets the host before the server reads it, then hands over to the server's
own command line (``--entry_script``, ``--model_dir``, ``--port``, ...).
"""

import sys

from azureml_inference_server_http import constants

constants.DEFAULT_HOST = "127.0.0.1"

from azureml_inference_server_http import amlserver  # noqa: E402 - must see the host set above

if __name__ == "__main__":
    sys.exit(amlserver.run())
