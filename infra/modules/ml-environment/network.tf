# Inbound private access to the workspace from your own virtual network (optional). Outbound
# isolation needs no network of yours: it is the workspace's managed network (main.tf).

resource "azurerm_private_endpoint" "workspace" {
  count = var.workspace_private_endpoint == null ? 0 : 1

  name                = var.names.private_endpoint
  location            = azurerm_resource_group.this.location
  resource_group_name = azurerm_resource_group.this.name
  subnet_id           = var.workspace_private_endpoint.subnet_id

  private_service_connection {
    name                           = "${var.names.workspace}-amlworkspace"
    private_connection_resource_id = azurerm_machine_learning_workspace.this.id
    subresource_names              = ["amlworkspace"]
    is_manual_connection           = false
  }

  private_dns_zone_group {
    name                 = "azureml"
    private_dns_zone_ids = var.workspace_private_endpoint.private_dns_zone_ids
  }

  tags = var.tags
}
