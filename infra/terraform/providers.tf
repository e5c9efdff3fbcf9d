provider "azurerm" {
  features {
    key_vault {
      purge_soft_delete_on_destroy = false
    }
  }
  # the storage account has shared keys disabled: data-plane calls use Entra ID
  storage_use_azuread = true
  subscription_id     = var.subscription_id
}

# Local accounts are disabled on the cluster: the Kubernetes providers authenticate with Entra ID through
# kubelogin (https://azure.github.io/kubelogin), using the identity that runs Terraform.
locals {
  kube_host = azurerm_kubernetes_cluster.aks.kube_config[0].host
  kube_ca   = base64decode(azurerm_kubernetes_cluster.aks.kube_config[0].cluster_ca_certificate)
  kube_exec_args = [
    "get-token", "--login", "azurecli",
    # the AKS AAD server application (the same for every cluster)
    "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630",
  ]
}

provider "kubernetes" {
  host                   = local.kube_host
  cluster_ca_certificate = local.kube_ca
  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "kubelogin"
    args        = local.kube_exec_args
  }
}

provider "helm" {
  kubernetes = {
    host                   = local.kube_host
    cluster_ca_certificate = local.kube_ca
    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "kubelogin"
      args        = local.kube_exec_args
    }
  }
}
