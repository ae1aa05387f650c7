# The inputs of one environment. environments/<env>.tfvars.json gives every variable below
# except principal_ids (tenant-specific, supplied at deploy time as TF_VAR_principal_ids) and
# workspace_private_endpoint (only where the workspace is closed to public networks).
# The Design stage's decision model writes those files: keep these names and types stable.

variable "environment" {
  description = "The environment this state describes: dev, test or prod."
  type        = string

  validation {
    condition     = contains(["dev", "test", "prod"], var.environment)
    error_message = "environment must be one of dev, test, prod."
  }
}

variable "project" {
  description = "Short project name every resource name is built from (1-20 lowercase letters, digits and inner hyphens), e.g. taxi."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$", var.project))
    error_message = "project is 1-20 lowercase letters, digits and hyphens, starting and ending with a letter or digit (for example taxi)."
  }
}

variable "location" {
  description = "Azure region of the environment, as a region name (e.g. westeurope)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]+$", var.location))
    error_message = "location is a region name such as westeurope (lowercase, no spaces)."
  }
}

variable "resource_group_name" {
  description = "The environment's resource group, rg-<project>-<environment> by the naming convention."
  type        = string

  validation {
    condition     = var.resource_group_name == "rg-${var.project}-${var.environment}"
    error_message = "resource_group_name must follow the naming convention rg-<project>-<environment>."
  }
}

variable "workspace_name" {
  description = "The Azure ML workspace, mlw-<project>-<environment> by the naming convention."
  type        = string

  validation {
    condition     = var.workspace_name == "mlw-${var.project}-${var.environment}"
    error_message = "workspace_name must follow the naming convention mlw-<project>-<environment>."
  }
}

variable "public_network_access_enabled" {
  description = "Whether the workspace answers on its public endpoint. Entra ID authentication is required either way; false needs workspace_private_endpoint and private_networking."
  type        = bool
}

variable "private_networking" {
  description = "The one switch for private networking: the workspace's managed virtual network allows only approved outbound traffic, and its storage, key vault and registry (Premium) are closed to public networks."
  type        = bool

  validation {
    condition     = var.private_networking || var.public_network_access_enabled
    error_message = "A workspace closed to public networks (public_network_access_enabled = false) needs private_networking = true: its storage and registry would otherwise stay public."
  }
}

variable "workspace_private_endpoint" {
  description = "Inbound private access to the workspace from your own virtual network: the subnet id for the private endpoint and the ids of the privatelink.api.azureml.ms and privatelink.notebooks.azure.net private DNS zones. Required when public_network_access_enabled is false; null otherwise."
  type = object({
    subnet_id            = string
    private_dns_zone_ids = list(string)
  })
  default = null

  validation {
    condition     = var.public_network_access_enabled || var.workspace_private_endpoint != null
    error_message = "public_network_access_enabled is false, so give workspace_private_endpoint (TF_VAR_workspace_private_endpoint): without it nobody could reach the workspace."
  }

  validation {
    condition     = var.workspace_private_endpoint == null || can(regex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.Network/virtualNetworks/[^/]+/subnets/[^/]+$", var.workspace_private_endpoint.subnet_id))
    error_message = "workspace_private_endpoint.subnet_id must be a subnet resource id (/subscriptions/.../virtualNetworks/<vnet>/subnets/<subnet>)."
  }
}

variable "compute_cluster" {
  description = "The CPU compute cluster: name, VM size, minimum nodes (must be 0: it scales to zero), maximum nodes, and seconds a node stays idle before it is released."
  type = object({
    name                          = string
    vm_size                       = string
    min_nodes                     = number
    max_nodes                     = number
    idle_seconds_before_scaledown = number
  })

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,14}[a-zA-Z0-9]$", var.compute_cluster.name))
    error_message = "compute_cluster.name is 3-16 letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }

  validation {
    condition     = can(regex("^Standard_[A-Za-z0-9_]+$", var.compute_cluster.vm_size))
    error_message = "compute_cluster.vm_size is an Azure VM size such as Standard_DS3_v2."
  }

  validation {
    condition     = var.compute_cluster.min_nodes == 0
    error_message = "compute_cluster.min_nodes must be 0 so that the cluster scales to zero: idle nodes are billed."
  }

  validation {
    condition     = var.compute_cluster.max_nodes >= 1 && var.compute_cluster.max_nodes <= 100 && floor(var.compute_cluster.max_nodes) == var.compute_cluster.max_nodes
    error_message = "compute_cluster.max_nodes is a whole number from 1 to 100."
  }

  validation {
    condition     = var.compute_cluster.idle_seconds_before_scaledown >= 60 && var.compute_cluster.idle_seconds_before_scaledown <= 86400 && floor(var.compute_cluster.idle_seconds_before_scaledown) == var.compute_cluster.idle_seconds_before_scaledown
    error_message = "compute_cluster.idle_seconds_before_scaledown is whole seconds from 60 (shorter makes every job wait for a new node) to 86400 (a day)."
  }
}

variable "role_assignments" {
  description = "Group key (e.g. data_scientists, ml_engineers, pipeline) to the Azure built-in role names it gets on this environment's resource group. The object id behind each key is in principal_ids."
  type        = map(list(string))

  validation {
    condition     = alltrue([for group in keys(var.role_assignments) : can(regex("^[a-z][a-z0-9_]*$", group))])
    error_message = "role_assignments keys are group keys in snake_case, e.g. data_scientists."
  }

  validation {
    condition     = alltrue([for roles in values(var.role_assignments) : length(roles) > 0 && length(distinct(roles)) == length(roles)])
    error_message = "Each group in role_assignments lists at least one role, each role once (remove a group that gets nothing)."
  }

  validation {
    # Granting access is the job of whoever bootstraps the subscription, not of a tfvars file.
    condition     = length(setintersection(flatten(values(var.role_assignments)), ["Owner", "User Access Administrator", "Role Based Access Control Administrator"])) == 0
    error_message = "role_assignments must not grant Owner, User Access Administrator or Role Based Access Control Administrator."
  }
}

variable "principal_ids" {
  description = "Group key to the Entra ID object id of that group (or of the pipeline's service principal). Tenant-specific, so not in the tfvars files: set TF_VAR_principal_ids='{\"data_scientists\":\"<object id>\",...}' at deploy time. Every key in role_assignments needs one."
  type        = map(string)

  validation {
    condition     = alltrue([for id in values(var.principal_ids) : can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", id))])
    error_message = "Each principal id is an Entra ID object id (a GUID)."
  }

  validation {
    condition     = length(setsubtract(keys(var.role_assignments), keys(var.principal_ids))) == 0
    error_message = "principal_ids has no object id for: ${join(", ", sort(setsubtract(keys(var.role_assignments), keys(var.principal_ids))))}. Every group in role_assignments needs one."
  }
}

variable "tags" {
  description = "Tags for every resource, added to the project and environment tags set in main.tf."
  type        = map(string)

  validation {
    condition     = alltrue([for key in keys(var.tags) : length(key) > 0 && length(key) <= 512])
    error_message = "Tag names are 1-512 characters."
  }
}
