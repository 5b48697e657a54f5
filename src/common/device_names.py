"""The values params.yaml's `device` may take, in a module without torch: the params checks of the light
stages import it (src.config.schema), src.common.device resolves them."""
import re

DEVICE_NAME = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")
