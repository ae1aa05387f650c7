# The Azure ML registry all environments share, and who may use it. Week 11 promotes the model that
# passed dev's gate through it, unchanged, to test and prod (notebooks/11_promote_to_test_and_prod).
#
# One registry, several states: the registry lives in dev's resource group (week 5 creates it there
# with the SDK too: dev is the first environment of every topology), so dev's state creates it.
# Every environment's state grants its own identities access to it, in the same file:
#   dev         the pipeline identity writes (shares models and environments): AzureML Registry User
#   test, prod  the pipeline identity and the endpoints' identity only read: a read-only role;
#               the pipeline identity also reads dev (Reader and Storage Blob Data Reader on dev's
#               resource group): the promotion checks the champion's evidence where the gate left
#               it (its pipeline job, decision and data) before deploying the registry's copy
# So only dev's identity writes to the registry: model-cd.yml shares in its dev job
# (notebook 11's `share` stage), test's and prod's jobs deploy what is there.
# The read-only role is custom because no built-in role reads a registry without writing to it
# (AzureML Registry User grants Microsoft.MachineLearningServices/registries/assets/*). A missing
# read permission is what users of registry deployments report first: the deployment in test or
# prod fails to pull the model. The deploying identities of test and prod need
# roleAssignments/write on the registry (book/infrastructure.md, "Once").

locals {
  registry_home = var.environment == "dev"
  registry_name = "mlr-${var.project}" # accelerator.naming.registry_name
  # The same subscription as the environments; dev's resource group by the naming convention.
  registry_id          = "${local.dev_resource_group_id}/providers/Microsoft.MachineLearningServices/registries/${local.registry_name}"
  registry_reader_role = "AzureML Registry Reader (${local.registry_name})"
  # Who gets which access, in this environment's state.
  registry_readers = local.registry_home ? {} : merge(
    contains(keys(var.principal_ids), "pipeline") ? { pipeline = var.principal_ids["pipeline"] } : {},
    { endpoints = azurerm_user_assigned_identity.endpoints[0].principal_id },
  )
}

resource "azapi_resource" "registry" {
  count = local.registry_home ? 1 : 0

  # 2024-10-01 is the newest GA API version the azure-ai-ml SDK pinned here (1.35) also calls.
  type      = "Microsoft.MachineLearningServices/registries@2024-10-01"
  name      = local.registry_name
  parent_id = "/subscriptions/${data.azurerm_client_config.current.subscription_id}/resourceGroups/${module.ml_environment.resource_group_name}"
  location  = var.location
  tags      = local.tags

  identity {
    type = "SystemAssigned"
  }

  body = {
    properties = {
      # Closed to public networks when the environments are (private_networking): then reached
      # through the workspaces' managed networks, as their own storage and registry are.
      publicNetworkAccess = var.private_networking ? "Disabled" : "Enabled"
      # The region the workspaces are in. A workspace in a region the registry does not replicate to
      # cannot deploy from it: add regions here when the design adds them.
      regionDetails = [{
        location = var.location
        acrDetails = [{
          systemCreatedAcrAccount = { acrAccountSku = "Premium" }
        }]
        storageAccountDetails = [{
          systemCreatedStorageAccount = {
            storageAccountType       = local.storage_replication_type == "ZRS" ? "Standard_ZRS" : "Standard_LRS"
            storageAccountHnsEnabled = false
            allowBlobPublicAccess    = false
          }
        }]
      }]
    }
  }

  response_export_values = ["id"]
}

# Dev's pipeline identity shares the champion (and its environment) into the registry.
resource "azurerm_role_assignment" "registry_writer" {
  count = local.registry_home && contains(keys(var.principal_ids), "pipeline") ? 1 : 0

  scope                = azapi_resource.registry[0].id
  role_definition_name = "AzureML Registry User"
  principal_id         = var.principal_ids["pipeline"]
  description          = "pipeline: shares models and environments from ${var.workspace_name} into ${local.registry_name}"
}

# Read only: the registry and its assets, nothing written, nothing deleted.
resource "azurerm_role_definition" "registry_reader" {
  count = local.registry_home ? 1 : 0

  name        = local.registry_reader_role
  scope       = azapi_resource.registry[0].id
  description = "Reads the ${local.registry_name} registry and its models, environments and components, to deploy from it."

  permissions {
    actions = [
      "Microsoft.MachineLearningServices/registries/read",
      "Microsoft.MachineLearningServices/registries/assets/read",
    ]
    not_actions = []
  }

  assignable_scopes = [azapi_resource.registry[0].id]
}

# Test's and prod's own state looks the role up where dev's state defined it.
data "azurerm_role_definition" "registry_reader" {
  count = local.registry_home ? 0 : 1

  name  = local.registry_reader_role
  scope = local.registry_id
}

# Test's and prod's pipeline identity reads dev, nothing more: the champion, its gate's pipeline
# job and decision, its training data and files (week 11 reads them, and shares nothing itself).
locals {
  dev_resource_group_id = "/subscriptions/${data.azurerm_client_config.current.subscription_id}/resourceGroups/rg-${var.project}-dev"
  dev_readers = local.registry_home || !contains(keys(var.principal_ids), "pipeline") ? {} : {
    for role in ["Reader", "Storage Blob Data Reader"] : role => var.principal_ids["pipeline"]
  }
}

resource "azurerm_role_assignment" "dev_reader" {
  for_each = local.dev_readers

  scope                = local.dev_resource_group_id
  role_definition_name = each.key
  principal_id         = each.value
  description          = "pipeline of ${var.workspace_name}: reads the champion's evidence in dev to promote it"
}

# The identity test's and prod's online and batch endpoints run as (user-assigned, so that its
# access exists before the first endpoint does): it pulls the registry's model and environment
# image, and the workspace's own images and files.
resource "azurerm_user_assigned_identity" "endpoints" {
  count = local.registry_home ? 0 : 1

  name                = "id-${var.project}-${var.environment}-endpoints"
  location            = module.ml_environment.location
  resource_group_name = module.ml_environment.resource_group_name
  tags                = local.tags
}

resource "azurerm_role_assignment" "registry_reader" {
  for_each = local.registry_readers

  scope              = local.registry_id
  role_definition_id = data.azurerm_role_definition.registry_reader[0].role_definition_resource_id
  principal_id       = each.value
  description        = "${each.key} of ${var.workspace_name}: reads ${local.registry_name} to deploy from it"
}

resource "azurerm_role_assignment" "endpoints_images" {
  count = local.registry_home ? 0 : 1

  scope                = module.ml_environment.container_registry_id
  role_definition_name = "AcrPull"
  principal_id         = azurerm_user_assigned_identity.endpoints[0].principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "endpoints_storage" {
  count = local.registry_home ? 0 : 1

  scope                = module.ml_environment.storage_account_id
  role_definition_name = "Storage Blob Data Reader"
  principal_id         = azurerm_user_assigned_identity.endpoints[0].principal_id
  principal_type       = "ServicePrincipal"
}
