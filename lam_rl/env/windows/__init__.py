"""Real Windows VMs: the UI Automation VM agent (``agent.WindowsAgent``) and its desktops
(``local.PywinautoDesktop`` on the VM itself, ``waa.WAADesktop`` for Windows Agent Arena / OSWorld
images, ``simulated`` off Windows). Only ``uia.py`` touches Windows-only libraries. docs/windows.md."""
