# Week 12's retraining without a person, on Azure (prod only): a monitor run that breaches a
# threshold fails and carries the tag azureml_modelmonitor_threshold_breached; the workspace emits
# Microsoft.MachineLearningServices.RunStatusChanged to Event Grid; a subscription filtered on that
# tag delivers it to an Azure Function in this repository
# (notebooks/workloads/taxi_fare/retrain/function_app.py), which submits the week 9 training
# pipeline in dev (where training runs, on dev's latest data) with the function's managed identity. The gate decides; a promoted
# challenger still goes through week 11's promotion. The filter is the documented one
# (learn.microsoft.com/azure/machine-learning/how-to-monitor-model-performance, "Integrate Azure
# Machine Learning model monitoring with Azure Event Grid").

locals {
  retraining = local.is_prod
  # func-<project>-<env>-<hash>: globally unique host name. st<project>fn<hash>: the function's own storage.
  retraining_names = {
    function_app    = "func-${var.project}-${var.environment}-retrain-${local.unique_suffix}"
    service_plan    = "asp-${var.project}-${var.environment}-retrain"
    storage_account = "st${substr(local.compact_project, 0, 12)}fn${local.unique_suffix}"
    system_topic    = "evgt-${var.workspace_name}"
  }
  retraining_function = "retrain_on_breach" # the function's name in function_app.py
  breach_tag          = "azureml_modelmonitor_threshold_breached"
  # The value the monitor's own components write into the tag when a signal breaches.
  breach_message = "has failed due to one or more features violating metric thresholds"
  # Training happens in dev (week 9); the gate there decides, and week 11 promotes. By the naming
  # convention, in the same subscription; prod's deploying identity needs roleAssignments/write on
  # it (book/infrastructure.md, "Once").
  retraining_workspace = {
    name           = "mlw-${var.project}-dev"
    resource_group = "rg-${var.project}-dev"
    id             = "/subscriptions/${data.azurerm_client_config.current.subscription_id}/resourceGroups/rg-${var.project}-dev/providers/Microsoft.MachineLearningServices/workspaces/mlw-${var.project}-dev"
  }
}

# The function's package, staged by `python tools/retrain_function.py` (the infra pipelines run it
# before plan and apply; byte-identical from the same commit): function_app.py, host.json and
# requirements.txt at its root, with the handler's imports (workloads/, accelerator/) beside them.
# Remote build installs requirements.txt.
# The Functions host's own storage (deployment package, triggers' state): Entra ID only.
resource "azurerm_storage_account" "retraining" {
  count = local.retraining ? 1 : 0
  #checkov:skip=CKV2_AZURE_1:Holds only the function's deployment package and host state, no data; Microsoft-managed keys plus infrastructure encryption.
  #checkov:skip=CKV_AZURE_33:Queues hold only the Functions host's own state; access is audited as Entra ID sign-ins (shared keys are off).
  #checkov:skip=CKV_AZURE_43:The name is computed at plan time (it includes a hash of the subscription), which the scanner cannot evaluate; it is at most 22 lowercase letters and digits.
  #checkov:skip=CKV_AZURE_59:A Flex Consumption app reaches its host storage over the public endpoint unless it is integrated into a virtual network, which this design does not have (the workspace uses a managed network); access needs Entra ID (shared keys are off).
  #checkov:skip=CKV2_AZURE_33:No private endpoint, for the reason of CKV_AZURE_59.
  #checkov:skip=CKV_AZURE_35:The network default stays Allow for the reason of CKV_AZURE_59; shared keys are off, so every request needs an Entra ID identity with a role on the account.
  #checkov:skip=CKV_AZURE_206:The host storage holds a redeployable package and transient host state: zone-redundant replication adds cost, not resilience of any data.
  name                     = local.retraining_names.storage_account
  location                 = module.ml_environment.location
  resource_group_name      = module.ml_environment.resource_group_name
  account_kind             = "StorageV2"
  account_tier             = "Standard"
  account_replication_type = "LRS"

  https_traffic_only_enabled        = true
  min_tls_version                   = "TLS1_2"
  allow_nested_items_to_be_public   = false
  shared_access_key_enabled         = false
  default_to_oauth_authentication   = true
  infrastructure_encryption_enabled = true
  cross_tenant_replication_enabled  = false
  local_user_enabled                = false
  sftp_enabled                      = false

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
    default_action = "Allow" # see CKV_AZURE_59 above
    bypass         = ["AzureServices"]
  }

  tags = local.tags
}

resource "azurerm_storage_container" "retraining" {
  count = local.retraining ? 1 : 0
  #checkov:skip=CKV2_AZURE_21:Blob read logging of a container that holds only the function's package; access is audited as Entra ID sign-ins.

  name                  = "deployments"
  storage_account_id    = azurerm_storage_account.retraining[0].id
  container_access_type = "private"
}

# Flex Consumption: billed per execution, scales to zero (a breach is a rare event).
resource "azurerm_service_plan" "retraining" {
  count = local.retraining ? 1 : 0
  #checkov:skip=CKV_AZURE_212:Flex Consumption scales per execution; a minimum instance count is a dedicated-plan setting.
  #checkov:skip=CKV_AZURE_225:Zone redundancy is a setting of dedicated (Premium, Elastic Premium) plans; a missed delivery is retried by Event Grid for a day.

  name                = local.retraining_names.service_plan
  location            = module.ml_environment.location
  resource_group_name = module.ml_environment.resource_group_name
  os_type             = "Linux"
  sku_name            = "FC1"
  tags                = local.tags
}

resource "azurerm_function_app_flex_consumption" "retraining" {
  count = local.retraining ? 1 : 0

  name                = local.retraining_names.function_app
  location            = module.ml_environment.location
  resource_group_name = module.ml_environment.resource_group_name
  service_plan_id     = azurerm_service_plan.retraining[0].id

  runtime_name    = "python"
  runtime_version = "3.11"
  zip_deploy_file = "${path.root}/.build/retrain-function.zip"

  # Deployment package and host storage with the app's own identity: no key, no connection string.
  storage_container_type      = "blobContainer"
  storage_container_endpoint  = "${azurerm_storage_account.retraining[0].primary_blob_endpoint}${azurerm_storage_container.retraining[0].name}"
  storage_authentication_type = "SystemAssignedIdentity"

  maximum_instance_count = 40 # the smallest Flex Consumption allows
  instance_memory_in_mb  = 2048

  https_only                                     = true
  public_network_access_enabled                  = false # Event Grid delivers through the platform, not the public endpoint
  webdeploy_publish_basic_authentication_enabled = false

  identity {
    type = "SystemAssigned"
  }

  app_settings = {
    AzureWebJobsStorage__accountName = azurerm_storage_account.retraining[0].name
    # The workspace the function submits the training pipeline to (function_app.py reads these).
    AZUREML_SUBSCRIPTION_ID = data.azurerm_client_config.current.subscription_id
    AZUREML_RESOURCE_GROUP  = local.retraining_workspace.resource_group
    AZUREML_WORKSPACE_NAME  = local.retraining_workspace.name
  }

  site_config {
    minimum_tls_version                    = "1.2"
    http2_enabled                          = true
    application_insights_connection_string = null
  }

  tags = local.tags
}

# The function's identity: its host storage, and submitting jobs in the workspace.
resource "azurerm_role_assignment" "retraining_storage" {
  count = local.retraining ? 1 : 0

  scope                = azurerm_storage_account.retraining[0].id
  role_definition_name = "Storage Blob Data Owner"
  principal_id         = azurerm_function_app_flex_consumption.retraining[0].identity[0].principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "retraining_workspace" {
  count = local.retraining ? 1 : 0

  scope                = local.retraining_workspace.id
  role_definition_name = "AzureML Data Scientist"
  principal_id         = azurerm_function_app_flex_consumption.retraining[0].identity[0].principal_id
  principal_type       = "ServicePrincipal"
  description          = "retraining function: submits the training pipeline in ${local.retraining_workspace.name} on a breach in ${var.workspace_name}"
}

# The workspace's events.
resource "azurerm_eventgrid_system_topic" "workspace" {
  count = local.retraining ? 1 : 0

  name                = local.retraining_names.system_topic
  location            = module.ml_environment.location
  resource_group_name = module.ml_environment.resource_group_name
  source_resource_id  = module.ml_environment.workspace_id
  topic_type          = "Microsoft.MachineLearningServices.Workspaces"

  identity {
    type = "SystemAssigned"
  }

  tags = local.tags
}

# Only a monitor run whose status changed because a signal breached its threshold.
resource "azurerm_eventgrid_system_topic_event_subscription" "retrain_on_breach" {
  count = local.retraining ? 1 : 0

  name                = "retrain-on-monitor-breach"
  system_topic        = azurerm_eventgrid_system_topic.workspace[0].name
  resource_group_name = module.ml_environment.resource_group_name

  event_delivery_schema = "EventGridSchema"
  included_event_types  = ["Microsoft.MachineLearningServices.RunStatusChanged"]

  advanced_filter {
    string_contains {
      key    = "data.RunTags.${local.breach_tag}"
      values = [local.breach_message]
    }
  }

  azure_function_endpoint {
    function_id                       = "${azurerm_function_app_flex_consumption.retraining[0].id}/functions/${local.retraining_function}"
    max_events_per_batch              = 1
    preferred_batch_size_in_kilobytes = 64
  }

  # Retried for a day: a breach that cannot be delivered is not silently lost within minutes.
  retry_policy {
    max_delivery_attempts = 30
    event_time_to_live    = 1440
  }
}
