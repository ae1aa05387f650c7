# One Azure ML environment (dev, test or prod), instantiated from environments/<env>.tfvars.json
# with its own state (environments/<env>.backend.hcl). Naming and tags live here, in one place.

data "azurerm_client_config" "current" {}

locals {
  # Resource names that must be globally unique (storage, key vault, registry) carry a short
  # hash of the subscription and resource group: stable across runs, different per subscription.
  compact_project = replace(var.project, "-", "")
  unique_suffix   = substr(sha1("${data.azurerm_client_config.current.subscription_id}/${var.resource_group_name}"), 0, 6)

  names = {
    resource_group          = var.resource_group_name # rg-<project>-<env>
    workspace               = var.workspace_name      # mlw-<project>-<env>
    log_analytics_workspace = "log-${var.project}-${var.environment}"
    application_insights    = "appi-${var.project}-${var.environment}"
    private_endpoint        = "pe-${var.workspace_name}"
    # st<project><env><hash>: 3-24 lowercase letters and digits.
    storage_account = "st${substr(local.compact_project, 0, 12)}${var.environment}${local.unique_suffix}"
    # kv-<project>-<env>-<hash>: at most 24 characters.
    key_vault = "kv-${substr(local.compact_project, 0, 8)}-${var.environment}-${local.unique_suffix}"
    # cr<project><env><hash>: letters and digits only.
    container_registry = "cr${local.compact_project}${var.environment}${local.unique_suffix}"
  }

  # The project's own tags win over anything in var.tags of the same name.
  tags = merge(var.tags, {
    project     = var.project
    environment = var.environment
    managed-by  = "terraform"
  })

  # Environment policies that are not part of the solution design's variables.
  is_prod = var.environment == "prod"
  # Dev trains on cheaper low-priority nodes (they can be pre-empted); test and prod on dedicated,
  # as in week 6. Only prod holds real (high business impact) data.
  vm_priority                = var.environment == "dev" ? "LowPriority" : "Dedicated"
  storage_replication_type   = local.is_prod ? "ZRS" : "LRS"
  log_retention_days         = local.is_prod ? 90 : 30
  key_vault_soft_delete_days = local.is_prod ? 90 : 7
}

module "ml_environment" {
  source = "./modules/ml-environment"

  location  = var.location
  tenant_id = data.azurerm_client_config.current.tenant_id
  names     = local.names
  tags      = local.tags

  public_network_access_enabled = var.public_network_access_enabled
  private_networking            = var.private_networking
  workspace_private_endpoint    = var.workspace_private_endpoint

  compute_cluster             = var.compute_cluster
  compute_cluster_vm_priority = local.vm_priority
  high_business_impact        = local.is_prod

  storage_replication_type   = local.storage_replication_type
  log_retention_days         = local.log_retention_days
  key_vault_soft_delete_days = local.key_vault_soft_delete_days

  role_assignments = var.role_assignments
  principal_ids    = var.principal_ids
}
