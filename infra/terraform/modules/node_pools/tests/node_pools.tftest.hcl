# Offline checks of the node-pool shapes (`terraform test` in this folder).

run "default_shapes" {
  command = plan

  assert {
    condition     = output.pools.system.mode == "System" && contains(output.pools.system.node_taints, "CriticalAddonsOnly=true:NoSchedule")
    error_message = "the system pool must be System mode and keep user pods off"
  }
  assert {
    condition     = output.pools.gpu.node_taints == ["nvidia.com/gpu=present:NoSchedule"]
    error_message = "the GPU pool must carry the taint that rendered GPU pods tolerate"
  }
  assert {
    condition     = output.pools.cpu.node_taints == [] && output.pools.cpu.auto_scaling_enabled
    error_message = "the CPU pool is untainted and autoscaled"
  }
  assert {
    condition     = alltrue([for k, p in output.pools : p.node_labels["lam-rl.io/pool"] == k])
    error_message = "every pool must label its nodes lam-rl.io/pool=<pool name>"
  }
  assert {
    condition     = keys(output.user_pools) == ["cpu", "gpu"]
    error_message = "user pools: ${jsonencode(keys(output.user_pools))}"
  }
  assert {
    condition     = output.max_nodes == 2 + 10 + 4
    error_message = "max_nodes: ${output.max_nodes}"
  }
  assert {
    condition     = output.pools.gpu.min_count == 0
    error_message = "the GPU pool scales to zero by default"
  }
}

run "custom_bounds" {
  command = plan
  variables {
    cpu = { vm_size = "Standard_D8ds_v5", min_count = 2, max_count = 40 }
    gpu = { vm_size = "Standard_ND96isr_H100_v5", min_count = 1, max_count = 8 }
  }
  assert {
    condition     = output.pools.cpu.max_count == 40 && output.pools.gpu.vm_size == "Standard_ND96isr_H100_v5" && output.max_nodes == 50
    error_message = "custom bounds not applied"
  }
}

run "min_above_max_rejected" {
  command = plan
  variables {
    cpu = { vm_size = "Standard_D8ds_v5", min_count = 5, max_count = 2 }
  }
  expect_failures = [var.cpu]
}

run "non_gpu_size_for_gpu_pool_rejected" {
  command = plan
  variables {
    gpu = { vm_size = "Standard_D8ds_v5", min_count = 0, max_count = 2 }
  }
  expect_failures = [var.gpu]
}

run "bad_zone_rejected" {
  command = plan
  variables {
    zones = ["4"]
  }
  expect_failures = [var.zones]
}

run "empty_system_pool_rejected" {
  command = plan
  variables {
    system = { vm_size = "Standard_D4ds_v5", count = 0 }
  }
  expect_failures = [var.system]
}
