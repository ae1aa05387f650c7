# A number of seconds as the ISO 8601 duration Azure hands back: the largest units, zero parts left
# out (900 -> PT15M, 5400 -> PT1H30M, 90 -> PT1M30S, 86400 -> P1D). Arguments Azure normalises this
# way and that force replacement when they change, such as a compute cluster's
# scale_down_nodes_after_idle_duration, must be sent in this form: "PT900S" would come back as
# "PT15M" and every plan would replace the cluster. No provider: tests/infra evaluates it offline.

variable "seconds" {
  description = "The duration in whole seconds (0 or more)."
  type        = number

  validation {
    condition     = var.seconds >= 0 && floor(var.seconds) == var.seconds
    error_message = "seconds is a whole number of seconds, 0 or more."
  }
}

locals {
  days    = floor(var.seconds / 86400)
  hours   = floor(var.seconds % 86400 / 3600)
  minutes = floor(var.seconds % 3600 / 60)
  rest    = var.seconds % 60

  time_part = join("", [
    local.hours > 0 ? "${local.hours}H" : "",
    local.minutes > 0 ? "${local.minutes}M" : "",
    local.rest > 0 ? "${local.rest}S" : "",
  ])
  iso8601 = var.seconds == 0 ? "PT0S" : join("", [
    "P",
    local.days > 0 ? "${local.days}D" : "",
    local.time_part == "" ? "" : "T${local.time_part}",
  ])
}

output "iso8601" {
  description = "The duration in ISO 8601, e.g. PT15M."
  value       = local.iso8601
}
