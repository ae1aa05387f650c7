# Who may do what in this environment: Azure built-in roles on the resource group, so each role
# covers the workspace and its storage, registry and key vault alike.

locals {
  # One entry per (group, role): "data_scientists/AzureML Data Scientist" => {...}.
  group_roles = merge([
    for group, roles in var.role_assignments : {
      for role in roles : "${group}/${role}" => { group = group, role = role }
    }
  ]...)
}

resource "azurerm_role_assignment" "group" {
  for_each = local.group_roles

  scope                = azurerm_resource_group.this.id
  role_definition_name = each.value.role
  principal_id         = lookup(var.principal_ids, each.value.group, "")
  description          = "${each.value.group}: ${each.value.role} in ${var.names.workspace}"

  lifecycle {
    # A role for a group without a principal id is an error, never silently skipped.
    precondition {
      condition     = contains(keys(var.principal_ids), each.value.group)
      error_message = "role_assignments gives '${each.value.role}' to '${each.value.group}', but principal_ids has no object id for '${each.value.group}'."
    }
  }
}

# The compute cluster's own identity runs jobs: it reads and writes data and models in the
# default storage (shared keys are disabled) and pulls environment images from the registry.
resource "azurerm_role_assignment" "cluster_storage" {
  scope                = azurerm_storage_account.this.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_machine_learning_compute_cluster.cpu.identity[0].principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "cluster_registry" {
  scope                = azurerm_container_registry.this.id
  role_definition_name = "AcrPull"
  principal_id         = azurerm_machine_learning_compute_cluster.cpu.identity[0].principal_id
  principal_type       = "ServicePrincipal"
}
