# The subscription comes from ARM_SUBSCRIPTION_ID and the login from OIDC (ARM_USE_OIDC=true,
# ARM_CLIENT_ID, ARM_TENANT_ID) in the pipelines, or from the Azure CLI on a laptop.
provider "azurerm" {
  # The storage account has no shared keys: anything the provider does with storage uses Entra ID.
  storage_use_azuread = true

  # Never register resource providers: registering is a subscription-wide write that the read-only
  # identity of the plans may not do (and need not: the deploying identity does not either). A
  # subscription owner registers the namespaces this configuration uses once, before the first
  # run: Microsoft.ContainerRegistry, Microsoft.EventGrid, Microsoft.Insights, Microsoft.KeyVault,
  # Microsoft.MachineLearningServices, Microsoft.ManagedIdentity, Microsoft.Network,
  # Microsoft.OperationalInsights, Microsoft.Storage and Microsoft.Web (book/infrastructure.md, "Once").
  resource_provider_registrations = "none"

  features {
    key_vault {
      # Purge protection forbids purging anyway; recover a soft-deleted vault of the same name.
      purge_soft_delete_on_destroy    = false
      recover_soft_deleted_key_vaults = true
    }
    machine_learning {
      # A destroyed workspace stays soft-deleted (recoverable) for 14 days.
      purge_soft_deleted_workspace_on_destroy = false
    }
    resource_group {
      prevent_deletion_if_contains_resources = true
    }
    storage {
      # Manage storage through Azure Resource Manager only, so plan and apply work from a hosted
      # runner when the account is closed to public networks.
      data_plane_available = false
    }
  }
}

# The same login as azurerm (ARM_USE_OIDC, ARM_CLIENT_ID, ARM_TENANT_ID, ARM_SUBSCRIPTION_ID, and
# ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID on Azure DevOps), and the same rule: never register
# resource providers.
provider "azapi" {
  skip_provider_registration = true
}
