terraform {
  # Cross-variable validation needs 1.9.
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
      # 4.42 introduced the key vault's `rbac_authorization_enabled`.
      version = "~> 4.42"
    }
  }
}
