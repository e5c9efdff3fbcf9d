# In-cluster: the KubeRay operator (its Helm chart, CRDs included), the NVIDIA device plugin for the GPU
# pool, the lam-rl namespace under the restricted Pod Security Standard, its Secrets, and the lam-rl
# platform chart (infra/helm/lam-rl: ServiceAccount with the workload identity, NetworkPolicies, the
# shared runs volume).
locals {
  k8s_namespace       = "lam-rl"
  k8s_service_account = "lam-rl"
}

resource "helm_release" "kuberay" {
  name             = "kuberay-operator"
  repository       = "https://ray-project.github.io/kuberay-helm/"
  chart            = "kuberay-operator"
  version          = var.kuberay_version
  namespace        = "kuberay-system"
  create_namespace = true
  atomic           = true
  timeout          = 600

  values = [yamlencode({
    nodeSelector = { (module.node_pools.pool_label) = "cpu" }
  })]

  depends_on = [azurerm_kubernetes_cluster_node_pool.user, azurerm_role_assignment.aks_admin_terraform]
}

resource "helm_release" "nvidia_device_plugin" {
  name             = "nvidia-device-plugin"
  repository       = "https://nvidia.github.io/k8s-device-plugin"
  chart            = "nvidia-device-plugin"
  version          = "0.17.1"
  namespace        = "nvidia-device-plugin"
  create_namespace = true
  atomic           = true

  values = [yamlencode({
    nodeSelector = { (module.node_pools.pool_label) = "gpu" }
    tolerations  = [{ key = "nvidia.com/gpu", operator = "Exists", effect = "NoSchedule" }]
  })]

  depends_on = [azurerm_kubernetes_cluster_node_pool.user, azurerm_role_assignment.aks_admin_terraform]
}

resource "kubernetes_namespace_v1" "lam_rl" {
  metadata {
    name = local.k8s_namespace
    labels = {
      "pod-security.kubernetes.io/enforce" = "restricted"
      "pod-security.kubernetes.io/audit"   = "restricted"
      "pod-security.kubernetes.io/warn"    = "restricted"
    }
  }
  depends_on = [azurerm_role_assignment.aks_admin_terraform]
}

resource "kubernetes_secret_v1" "vm_token" {
  metadata {
    name      = "lam-rl-vm-token"
    namespace = kubernetes_namespace_v1.lam_rl.metadata[0].name
  }
  data = { token = random_password.vm_token.result }
}

resource "kubernetes_secret_v1" "wandb" {
  count = var.wandb_api_key == "" ? 0 : 1
  metadata {
    name      = "lam-rl-wandb"
    namespace = kubernetes_namespace_v1.lam_rl.metadata[0].name
  }
  data = { "api-key" = var.wandb_api_key }
}

resource "helm_release" "platform" {
  name      = "lam-rl"
  chart     = "${path.module}/../helm/lam-rl"
  namespace = kubernetes_namespace_v1.lam_rl.metadata[0].name
  atomic    = true

  values = [yamlencode({
    serviceAccount = {
      name                   = local.k8s_service_account
      workloadIdentityClient = azurerm_user_assigned_identity.workload.client_id
    }
    network = {
      vmSubnetCidr = module.network.subnets.vms
      vmAgentPort  = var.vm_agent_port
      storageCidr  = module.network.subnets.endpoints
      podCidr      = module.network.pod_cidr
    }
    runsVolume = {
      storageClass = var.runs_storage_class
      size         = var.runs_volume_size
    }
  })]

  depends_on = [helm_release.kuberay]
}
