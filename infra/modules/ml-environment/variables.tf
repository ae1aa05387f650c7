# One Azure ML environment. The root configuration decides every name and tag (infra/main.tf);
# this module only builds what it is given, so it can be reused with another naming scheme.

variable "location" {
  description = "Azure region of every resource, e.g. westeurope."
  type        = string
}

variable "tenant_id" {
  description = "Entra ID tenant of the key vault."
  type        = string
}

variable "names" {
  description = "The name of each resource, decided by the root configuration's naming convention."
  type = object({
    resource_group          = string
    workspace               = string
    storage_account         = string
    key_vault               = string
    container_registry      = string
    log_analytics_workspace = string
    application_insights    = string
    private_endpoint        = string
  })

  validation {
    condition     = can(regex("^[a-z0-9]{3,24}$", var.names.storage_account))
    error_message = "A storage account name is 3-24 lowercase letters and digits."
  }

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$", var.names.key_vault)) && !strcontains(var.names.key_vault, "--")
    error_message = "A key vault name is 3-24 letters, digits and single hyphens, starting with a letter."
  }

  validation {
    condition     = can(regex("^[a-zA-Z0-9]{5,50}$", var.names.container_registry))
    error_message = "A container registry name is 5-50 letters and digits."
  }
}

variable "tags" {
  description = "Tags on every resource that takes them."
  type        = map(string)
}

variable "public_network_access_enabled" {
  description = "Whether the workspace answers on its public endpoint (Entra ID authentication is required either way)."
  type        = bool
}

variable "private_networking" {
  description = "The one switch for private networking: a managed virtual network that allows only approved outbound traffic, and storage, key vault and registry closed to public networks (reached through the managed network's private endpoints)."
  type        = bool
}

variable "workspace_private_endpoint" {
  description = "Where to put a private endpoint for the workspace (inbound access from your own virtual network): a subnet id and the ids of the privatelink.api.azureml.ms and privatelink.notebooks.azure.net DNS zones. Null for none."
  type = object({
    subnet_id            = string
    private_dns_zone_ids = list(string)
  })
  default = null
}

variable "compute_cluster" {
  description = "The CPU compute cluster: name, VM size, node counts (minimum 0 so it costs nothing idle) and seconds idle before nodes are released."
  type = object({
    name                          = string
    vm_size                       = string
    min_nodes                     = number
    max_nodes                     = number
    idle_seconds_before_scaledown = number
  })

  validation {
    condition     = var.compute_cluster.min_nodes == 0
    error_message = "The compute cluster must scale to zero (min_nodes = 0): idle nodes are billed."
  }

}

variable "compute_cluster_vm_priority" {
  description = "Dedicated nodes, or LowPriority nodes (cheaper, can be pre-empted)."
  type        = string

  validation {
    condition     = contains(["Dedicated", "LowPriority"], var.compute_cluster_vm_priority)
    error_message = "compute_cluster_vm_priority is Dedicated or LowPriority."
  }
}

variable "high_business_impact" {
  description = "Whether the workspace holds high business impact data (cannot be changed after creation)."
  type        = bool
}

variable "storage_replication_type" {
  description = "Replication of the workspace storage account: LRS, ZRS, GRS, RAGRS, GZRS or RAGZRS."
  type        = string

  validation {
    condition     = contains(["LRS", "ZRS", "GRS", "RAGRS", "GZRS", "RAGZRS"], var.storage_replication_type)
    error_message = "Use one of LRS, ZRS, GRS, RAGRS, GZRS, RAGZRS."
  }
}

variable "log_retention_days" {
  description = "Days the Log Analytics workspace keeps logs (30-730)."
  type        = number

  validation {
    condition     = var.log_retention_days >= 30 && var.log_retention_days <= 730
    error_message = "Log Analytics keeps data for 30 to 730 days."
  }
}

variable "key_vault_soft_delete_days" {
  description = "Days a deleted key vault or secret can be recovered (7-90)."
  type        = number

  validation {
    condition     = var.key_vault_soft_delete_days >= 7 && var.key_vault_soft_delete_days <= 90
    error_message = "Key Vault keeps deleted items for 7 to 90 days."
  }
}

variable "role_assignments" {
  description = "Group key to the built-in role names it gets on the resource group."
  type        = map(list(string))
}

variable "principal_ids" {
  description = "Group key to the Entra ID object id of that group or identity."
  type        = map(string)
}
