# One Azure ML environment: a resource group with the workspace and everything it depends on.
# Every security setting below is explained in book/infrastructure.md.

locals {
  # Premium is the only registry tier that can be closed to public networks and reached privately.
  registry_sku = var.private_networking ? "Premium" : "Basic"
  # Closed to public networks when private: reached only through the managed network's private
  # endpoints. Written as conditionals (not `!`) so that the checkov scan can evaluate them.
  dependencies_public    = var.private_networking ? false : true
  network_default_action = var.private_networking ? "Deny" : "Allow"
}

resource "azurerm_resource_group" "this" {
  name     = var.names.resource_group
  location = var.location
  tags     = var.tags
}

# Logs and metrics: Application Insights stores its data in this Log Analytics workspace
# (classic, self-contained Application Insights is retired).
resource "azurerm_log_analytics_workspace" "this" {
  name                = var.names.log_analytics_workspace
  location            = azurerm_resource_group.this.location
  resource_group_name = azurerm_resource_group.this.name
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_days
  tags                = var.tags
}

resource "azurerm_application_insights" "this" {
  name                = var.names.application_insights
  location            = azurerm_resource_group.this.location
  resource_group_name = azurerm_resource_group.this.name
  workspace_id        = azurerm_log_analytics_workspace.this.id
  application_type    = "web"
  tags                = var.tags
}

# The workspace's default storage: datastores, job snapshots and outputs, models.
resource "azurerm_storage_account" "this" {
  # Checks that do not apply in any environment (environment-specific ones: infra/checkov/<env>.yaml):
  #checkov:skip=CKV2_AZURE_1:Encrypted at rest with Microsoft-managed keys plus infrastructure encryption; customer-managed keys add a key lifecycle (rotation, access, recovery) the accelerator does not need.
  #checkov:skip=CKV2_AZURE_33:The private endpoints to this account are created by the workspace's managed network (private_networking), not by Terraform, so the scanner cannot see them.
  #checkov:skip=CKV_AZURE_33:Queues are unused, and queue logging is a data-plane setting Terraform cannot reach once the account is private; access is audited as Entra ID sign-ins (shared keys are off).
  #checkov:skip=CKV_AZURE_43:The name is computed at plan time (it includes a hash of the subscription), which the scanner cannot evaluate; the module's variable validation enforces the same rule (3-24 lowercase letters and digits).
  name                     = var.names.storage_account
  location                 = azurerm_resource_group.this.location
  resource_group_name      = azurerm_resource_group.this.name
  account_kind             = "StorageV2"
  account_tier             = "Standard" # Azure ML cannot use a Premium account as its default storage.
  account_replication_type = var.storage_replication_type

  https_traffic_only_enabled        = true
  min_tls_version                   = "TLS1_2"
  allow_nested_items_to_be_public   = false
  shared_access_key_enabled         = false
  default_to_oauth_authentication   = true
  public_network_access_enabled     = local.dependencies_public
  infrastructure_encryption_enabled = true
  cross_tenant_replication_enabled  = false
  local_user_enabled                = false
  sftp_enabled                      = false

  # No SAS may live longer than 7 days, the limit of user delegation SAS (the only kind that can be
  # issued without shared keys): a guard should shared keys ever be turned back on.
  sas_policy {
    expiration_period = "7.00:00:00"
    expiration_action = "Block"
  }

  blob_properties {
    delete_retention_policy {
      days = 7
    }
    container_delete_retention_policy {
      days = 7
    }
  }

  network_rules {
    default_action = local.network_default_action
    bypass         = ["AzureServices"]
  }

  tags = var.tags
}

# Connection secrets of the workspace. RBAC authorisation, not access policies: who may read a
# secret is decided by role assignments, audited with every other role.
resource "azurerm_key_vault" "this" {
  #checkov:skip=CKV2_AZURE_32:The private endpoint to the key vault is created by the workspace's managed network (private_networking), not by Terraform, so the scanner cannot see it.
  name                          = var.names.key_vault
  location                      = azurerm_resource_group.this.location
  resource_group_name           = azurerm_resource_group.this.name
  tenant_id                     = var.tenant_id
  sku_name                      = "standard"
  rbac_authorization_enabled    = true
  purge_protection_enabled      = true
  soft_delete_retention_days    = var.key_vault_soft_delete_days
  public_network_access_enabled = local.dependencies_public

  network_acls {
    default_action = local.network_default_action
    bypass         = "AzureServices"
  }

  tags = var.tags
}

# Audit trail of every secret read and write, kept with the environment's other logs.
resource "azurerm_monitor_diagnostic_setting" "key_vault" {
  name                       = "audit-to-log-analytics"
  target_resource_id         = azurerm_key_vault.this.id
  log_analytics_workspace_id = azurerm_log_analytics_workspace.this.id

  enabled_log {
    category_group = "audit"
  }
}

# Images of the environments jobs and deployments run in. Pulled with Entra ID identities,
# never with the registry's shared admin password.
resource "azurerm_container_registry" "this" {
  #checkov:skip=CKV_AZURE_163:Image vulnerability scanning is Microsoft Defender for Containers, enabled per subscription by the security team, not a registry setting.
  #checkov:skip=CKV_AZURE_165:Geo-replication doubles the registry's cost; an environment lives in one region and Azure ML rebuilds its images from environment definitions under version control.
  #checkov:skip=CKV_AZURE_164:Docker Content Trust is deprecated in Azure Container Registry (removed March 2028); images are built by Azure ML from versioned environment definitions.
  #checkov:skip=CKV_AZURE_166:Quarantine holds every pushed image until a scanner releases it, so images Azure ML builds could not be pulled by jobs and deployments without a release workflow.
  name                          = var.names.container_registry
  location                      = azurerm_resource_group.this.location
  resource_group_name           = azurerm_resource_group.this.name
  sku                           = local.registry_sku
  admin_enabled                 = false
  anonymous_pull_enabled        = false
  public_network_access_enabled = local.dependencies_public
  # Premium-only features, on whenever the registry is Premium (private networking).
  zone_redundancy_enabled  = var.private_networking ? true : false
  data_endpoint_enabled    = var.private_networking ? true : false
  retention_policy_in_days = var.private_networking ? 7 : null

  tags = var.tags
}

resource "azurerm_machine_learning_workspace" "this" {
  name                    = var.names.workspace
  location                = azurerm_resource_group.this.location
  resource_group_name     = azurerm_resource_group.this.name
  application_insights_id = azurerm_application_insights.this.id
  key_vault_id            = azurerm_key_vault.this.id
  storage_account_id      = azurerm_storage_account.this.id
  container_registry_id   = azurerm_container_registry.this.id

  public_network_access_enabled = var.public_network_access_enabled
  # The default datastores use Entra ID identities: the storage account has no shared keys.
  storage_account_access_type = "Identity"
  v1_legacy_mode_enabled      = false
  # High business impact: encrypted scratch disks on compute nodes, less diagnostic data to Microsoft.
  high_business_impact = var.high_business_impact
  # A private registry cannot build images itself: build them on the environment's cluster.
  image_build_compute_name = var.private_networking ? var.compute_cluster.name : null

  identity {
    type = "SystemAssigned"
  }

  # Private: computes live in a Microsoft-managed virtual network that reaches only the workspace's
  # own resources (through private endpoints it creates) and outbound rules you approve.
  managed_network {
    isolation_mode                = var.private_networking ? "AllowOnlyApprovedOutbound" : "Disabled"
    provision_on_creation_enabled = var.private_networking
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.public_network_access_enabled || var.workspace_private_endpoint != null
      error_message = "The workspace is closed to public networks but no workspace_private_endpoint is given: nobody could reach it."
    }
  }
}

# The workspace's events (compute, jobs, models, deployments: who did what, when) kept with the logs.
resource "azurerm_monitor_diagnostic_setting" "workspace" {
  name                       = "logs-to-log-analytics"
  target_resource_id         = azurerm_machine_learning_workspace.this.id
  log_analytics_workspace_id = azurerm_log_analytics_workspace.this.id

  enabled_log {
    category_group = "allLogs"
  }
}

# The idle time as Azure returns it (900 seconds -> PT15M, not PT900S): the argument forces a new
# cluster when it changes, so any other spelling would replace the cluster on every plan.
module "idle_duration" {
  source  = "../duration"
  seconds = var.compute_cluster.idle_seconds_before_scaledown
}

# CPU training compute that costs nothing while idle: 0 nodes, released after the idle time.
resource "azurerm_machine_learning_compute_cluster" "cpu" {
  name                          = var.compute_cluster.name
  location                      = azurerm_resource_group.this.location
  machine_learning_workspace_id = azurerm_machine_learning_workspace.this.id
  vm_size                       = var.compute_cluster.vm_size
  vm_priority                   = var.compute_cluster_vm_priority

  # Jobs authenticate with Entra ID (this identity or the submitting user), never with keys.
  local_auth_enabled        = false
  ssh_public_access_enabled = false
  node_public_ip_enabled    = local.dependencies_public

  scale_settings {
    min_node_count                       = var.compute_cluster.min_nodes
    max_node_count                       = var.compute_cluster.max_nodes
    scale_down_nodes_after_idle_duration = module.idle_duration.iso8601
  }

  identity {
    type = "SystemAssigned"
  }

  tags = var.tags
}
