output "resource_group_name" {
  description = "The environment's resource group."
  value       = azurerm_resource_group.this.name
}

output "workspace_name" {
  description = "The Azure ML workspace."
  value       = azurerm_machine_learning_workspace.this.name
}

output "workspace_id" {
  description = "Resource id of the Azure ML workspace."
  value       = azurerm_machine_learning_workspace.this.id
}

output "workspace_principal_id" {
  description = "Object id of the workspace's system-assigned managed identity."
  value       = azurerm_machine_learning_workspace.this.identity[0].principal_id
}

output "compute_cluster_name" {
  description = "The CPU compute cluster jobs are submitted to."
  value       = azurerm_machine_learning_compute_cluster.cpu.name
}

output "storage_account_name" {
  description = "The workspace's default storage account."
  value       = azurerm_storage_account.this.name
}

output "key_vault_name" {
  description = "The workspace's key vault."
  value       = azurerm_key_vault.this.name
}

output "container_registry_name" {
  description = "The workspace's container registry."
  value       = azurerm_container_registry.this.name
}

output "application_insights_name" {
  description = "The workspace's Application Insights."
  value       = azurerm_application_insights.this.name
}

output "location" {
  description = "Azure region of the environment's resources."
  value       = azurerm_resource_group.this.location
}

output "storage_account_id" {
  description = "Resource id of the workspace's default storage account."
  value       = azurerm_storage_account.this.id
}

output "container_registry_id" {
  description = "Resource id of the workspace's container registry."
  value       = azurerm_container_registry.this.id
}
