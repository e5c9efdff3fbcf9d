{{/* Labels of every object of the chart. */}}
{{- define "lam-rl.labels" -}}
app.kubernetes.io/name: lam-rl
app.kubernetes.io/part-of: lam-rl
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The pods of lam-rl's Ray clusters and job submitters (lam_rl/deploy/pods.py labels them). */}}
{{- define "lam-rl.rayPods" -}}
matchLabels:
  app.kubernetes.io/name: lam-rl
{{- end -}}
