# The workspace coordinates connect() needs. A pipeline exports them for the notebooks as
# AZUREML_<ENV>_SUBSCRIPTION_ID, AZUREML_<ENV>_RESOURCE_GROUP and AZUREML_<ENV>_WORKSPACE_NAME:
# `terraform output -json azureml_environment_variables` gives exactly those names and values.

output "subscription_id" {
  description = "Subscription of the environment (AZUREML_<ENV>_SUBSCRIPTION_ID)."
  value       = data.azurerm_client_config.current.subscription_id
}

output "resource_group_name" {
  description = "Resource group of the environment (AZUREML_<ENV>_RESOURCE_GROUP)."
  value       = module.ml_environment.resource_group_name
}

output "workspace_name" {
  description = "Azure ML workspace of the environment (AZUREML_<ENV>_WORKSPACE_NAME)."
  value       = module.ml_environment.workspace_name
}

output "azureml_environment_variables" {
  description = "The environment variables connect(environment) reads, named for this environment."
  value = {
    "AZUREML_${upper(var.environment)}_SUBSCRIPTION_ID" = data.azurerm_client_config.current.subscription_id
    "AZUREML_${upper(var.environment)}_RESOURCE_GROUP"  = module.ml_environment.resource_group_name
    "AZUREML_${upper(var.environment)}_WORKSPACE_NAME"  = module.ml_environment.workspace_name
  }
}

output "workspace_id" {
  description = "Resource id of the Azure ML workspace."
  value       = module.ml_environment.workspace_id
}

output "compute_cluster_name" {
  description = "The CPU compute cluster jobs are submitted to."
  value       = module.ml_environment.compute_cluster_name
}

output "storage_account_name" {
  description = "The workspace's default storage account."
  value       = module.ml_environment.storage_account_name
}

output "key_vault_name" {
  description = "The workspace's key vault."
  value       = module.ml_environment.key_vault_name
}

output "container_registry_name" {
  description = "The workspace's container registry."
  value       = module.ml_environment.container_registry_name
}
