{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "api-platform.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: the release name, prefixed to the chart name unless it contains it. */}}
{{- define "api-platform.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "api-platform.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "api-platform.labels" -}}
helm.sh/chart: {{ include "api-platform.chart" . }}
{{ include "api-platform.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ include "api-platform.name" . }}
{{- end }}

{{/* The labels selectors use; add app.kubernetes.io/component per component. */}}
{{- define "api-platform.selectorLabels" -}}
app.kubernetes.io/name: {{ include "api-platform.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Pods that may open connections to PostgreSQL carry this label; the NetworkPolicy keys on it. */}}
{{- define "api-platform.databaseClientLabel" -}}
api-platform/database-client: "true"
{{- end }}

{{/* The api is the release's main component: its objects carry the plain full name. */}}
{{- define "api-platform.apiName" -}}
{{- include "api-platform.fullname" . }}
{{- end }}

{{- define "api-platform.postgresqlName" -}}
{{- printf "%s-postgresql" (include "api-platform.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "api-platform.redisName" -}}
{{- printf "%s-redis" (include "api-platform.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* REDIS_URL (never with the password, which the api reads from a file): the in-chart
Redis, `redis.externalUrl`, or empty (each replica counts on its own). */}}
{{- define "api-platform.redisUrl" -}}
{{- if .Values.redis.enabled }}
{{- printf "redis://%s:6379/0" (include "api-platform.redisName" .) }}
{{- else }}
{{- .Values.redis.externalUrl }}
{{- end }}
{{- end }}

{{/* The Secret holding the Redis password: one made outside the chart, or the chart's own. */}}
{{- define "api-platform.redisSecretName" -}}
{{- if .Values.redis.existingSecret }}
{{- .Values.redis.existingSecret }}
{{- else }}
{{- printf "%s-redis" (include "api-platform.fullname" .) }}
{{- end }}
{{- end }}

{{- define "api-platform.redisPasswordKey" -}}
{{- if .Values.redis.existingSecret }}
{{- .Values.redis.existingSecretPasswordKey }}
{{- else -}}
redis-password
{{- end }}
{{- end }}

{{- define "api-platform.workerName" -}}
{{- printf "%s-worker" (include "api-platform.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "api-platform.rabbitmqName" -}}
{{- printf "%s-rabbitmq" (include "api-platform.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The Secret holding the broker password: one made outside the chart, or the chart's own. */}}
{{- define "api-platform.rabbitmqSecretName" -}}
{{- if .Values.rabbitmq.existingSecret }}
{{- .Values.rabbitmq.existingSecret }}
{{- else }}
{{- include "api-platform.rabbitmqName" . }}
{{- end }}
{{- end }}

{{- define "api-platform.rabbitmqPasswordKey" -}}
{{- if .Values.rabbitmq.existingSecret }}
{{- .Values.rabbitmq.existingSecretPasswordKey }}
{{- else -}}
rabbitmq-password
{{- end }}
{{- end }}

{{/* Where the worker connects: host, port and TLS of the in-chart broker or rabbitmq.external. */}}
{{- define "api-platform.brokerHost" -}}
{{- if .Values.rabbitmq.enabled }}
{{- include "api-platform.rabbitmqName" . }}
{{- else }}
{{- required "rabbitmq.external.host is required when rabbitmq.enabled is false and the worker runs (or set worker.enabled=false)" .Values.rabbitmq.external.host }}
{{- end }}
{{- end }}

{{- define "api-platform.brokerPort" -}}
{{- if .Values.rabbitmq.enabled }}5672{{ else }}{{ .Values.rabbitmq.external.port }}{{ end }}
{{- end }}

{{- define "api-platform.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "api-platform.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
An image reference from its values (repository, tag, digest): by digest when one is
given (immutable: the same bytes on every node and after every rollback), else by tag.
*/}}
{{- define "api-platform.imageRef" -}}
{{- if .digest }}
{{- printf "%s@%s" .repository .digest }}
{{- else }}
{{- printf "%s:%s" .repository .tag }}
{{- end }}
{{- end }}

{{/* The api image; by digest only when image.requireDigest says so (staging, prod). */}}
{{- define "api-platform.image" -}}
{{- if and .Values.image.requireDigest (not .Values.image.digest) }}
{{- fail "image.digest is required (image.requireDigest is true): deploy by digest, e.g. cargo xtask deploy <env> --digest sha256:... (or --build), or helm upgrade ... --set image.digest=sha256:..." }}
{{- end }}
{{- include "api-platform.imageRef" .Values.image }}
{{- end }}

{{/* Where the api connects: the in-chart PostgreSQL Service, or database.host. */}}
{{- define "api-platform.databaseHost" -}}
{{- if .Values.postgresql.enabled }}
{{- include "api-platform.postgresqlName" . }}
{{- else }}
{{- required "database.host is required when postgresql.enabled is false" .Values.database.host }}
{{- end }}
{{- end }}

{{/* The Secret holding the database password: one made outside the chart, or the chart's own. */}}
{{- define "api-platform.databaseSecretName" -}}
{{- if .Values.database.existingSecret }}
{{- .Values.database.existingSecret }}
{{- else }}
{{- printf "%s-database" (include "api-platform.fullname" .) }}
{{- end }}
{{- end }}

{{- define "api-platform.databasePasswordKey" -}}
{{- if .Values.database.existingSecret }}
{{- .Values.database.existingSecretPasswordKey }}
{{- else -}}
password
{{- end }}
{{- end }}

{{/* The key of the server role's password (database.appUser) in the database Secret. */}}
{{- define "api-platform.appPasswordKey" -}}
{{- if .Values.database.existingSecret }}
{{- .Values.database.existingSecretAppPasswordKey }}
{{- else -}}
app-password
{{- end }}
{{- end }}

{{/* The Secret holding the token signing key (and the bootstrap admin's password). */}}
{{- define "api-platform.authSecretName" -}}
{{- if .Values.auth.existingSecret }}
{{- .Values.auth.existingSecret }}
{{- else }}
{{- printf "%s-auth" (include "api-platform.fullname" .) }}
{{- end }}
{{- end }}

{{/* Whole seconds in a duration as the api reads it: 500ms, 30s, 30sec, 2m, 2min, 1h, 30. */}}
{{- define "api-platform.seconds" -}}
{{- $text := toString . }}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" $text | float64 }}
{{- $unit := trimPrefix (regexFind "^[0-9]+(\\.[0-9]+)?" $text) $text }}
{{- $scale := dict "" 1.0 "s" 1.0 "sec" 1.0 "secs" 1.0 "ms" 0.001 "m" 60.0 "min" 60.0 "mins" 60.0 "h" 3600.0 }}
{{- mulf $number (get $scale $unit | default 1.0) | int }}
{{- end }}

{{/*
The pod's shutdown budget: Kubernetes kills the pod after terminationGracePeriodSeconds,
so it must cover the api's shutdown delay (still serving while traffic moves away) and its
grace period (in-flight requests finishing), which must cover the request timeout.
*/}}
{{- define "api-platform.shutdownBudget" -}}
{{- $delay := include "api-platform.seconds" .Values.app.shutdownDelay | int }}
{{- $grace := include "api-platform.seconds" .Values.app.shutdownGracePeriod | int }}
{{- $timeout := include "api-platform.seconds" .Values.app.requestTimeout | int }}
{{- if lt (int .Values.terminationGracePeriodSeconds) (add $delay $grace) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be at least app.shutdownDelay + app.shutdownGracePeriod (%ds), or Kubernetes kills the api while it still drains" (int .Values.terminationGracePeriodSeconds) (add $delay $grace)) }}
{{- end }}
{{- if lt $grace $timeout }}
{{- fail (printf "app.shutdownGracePeriod (%ds) must be at least app.requestTimeout (%ds), or a shutdown cuts requests the api would still answer" $grace $timeout) }}
{{- end }}
{{- end }}

{{/*
The chart's own secret values, resolved once per render and shared by the Secrets and the
checksum annotations: given in values, else read back from the live Secret (`lookup`, on
upgrades), else generated. Resolving them in each template separately would generate a
different random value for the Secret and for each checksum, and the first upgrade
(when `lookup` finds the live value) would then change every checksum and restart the
pods. Returns JSON: {"databasePassword", "appPassword", "jwtSecret", "adminPassword",
"redisPassword", "rabbitmqPassword"}; a value made
outside the chart (existingSecret), or not asked for (no bootstrap admin), is empty.
*/}}
{{- define "api-platform.secretValues" -}}
{{- if not (hasKey $ "apiPlatformSecretValues") }}
{{- $values := dict "databasePassword" "" "appPassword" "" "jwtSecret" "" "adminPassword" "" "redisPassword" "" "rabbitmqPassword" "" }}
{{- if not .Values.database.existingSecret }}
{{- $live := lookup "v1" "Secret" .Release.Namespace (include "api-platform.databaseSecretName" .) }}
{{- $data := dict }}
{{- if and $live $live.data }}
{{- $data = $live.data }}
{{- end }}
{{- $password := .Values.database.password }}
{{- if not $password }}
{{- $password = (get $data "password") | default (randAlphaNum 32 | b64enc) | b64dec }}
{{- end }}
{{- $_ := set $values "databasePassword" $password }}
{{- if .Values.database.appUser }}
{{- $_ := set $values "appPassword" ((get $data "app-password") | default (randAlphaNum 32 | b64enc) | b64dec) }}
{{- end }}
{{- end }}
{{- if not .Values.auth.existingSecret }}
{{- $live := lookup "v1" "Secret" .Release.Namespace (include "api-platform.authSecretName" .) }}
{{- $data := dict }}
{{- if and $live $live.data }}
{{- $data = $live.data }}
{{- end }}
{{- $_ := set $values "jwtSecret" ((get $data "jwt-secret") | default (randAlphaNum 48 | b64enc) | b64dec) }}
{{- if .Values.auth.bootstrapAdmin }}
{{- $_ := set $values "adminPassword" ((get $data "admin-password") | default (randAlphaNum 24 | b64enc) | b64dec) }}
{{- end }}
{{- end }}
{{- if and (not .Values.redis.existingSecret) (include "api-platform.redisUrl" .) }}
{{- $live := lookup "v1" "Secret" .Release.Namespace (include "api-platform.redisSecretName" .) }}
{{- $data := dict }}
{{- if and $live $live.data }}
{{- $data = $live.data }}
{{- end }}
{{- $_ := set $values "redisPassword" ((get $data "redis-password") | default (randAlphaNum 32 | b64enc) | b64dec) }}
{{- end }}
{{- if and .Values.worker.enabled (not .Values.rabbitmq.existingSecret) }}
{{- $live := lookup "v1" "Secret" .Release.Namespace (include "api-platform.rabbitmqSecretName" .) }}
{{- $data := dict }}
{{- if and $live $live.data }}
{{- $data = $live.data }}
{{- end }}
{{- $_ := set $values "rabbitmqPassword" ((get $data "rabbitmq-password") | default (randAlphaNum 32 | b64enc) | b64dec) }}
{{- end }}
{{- $_ := set $ "apiPlatformSecretValues" $values }}
{{- end }}
{{- toJson (get $ "apiPlatformSecretValues") }}
{{- end }}

{{/*
Refuses an upgrade while an earlier revision's migration Job still runs: the new
revision's manifest no longer holds that Job, so Helm would delete it mid-migration (a
transactional migration rolls back, a `-- no-transaction` one can leave an INVALID
index behind). A Job already retrying a failure is not protected: a fix must get through.
A rollback re-applies a stored manifest and renders nothing, so it
cannot be refused here: `cargo xtask` serialises its deploys and rollbacks with a lock.
*/}}
{{- define "api-platform.migrationGuard" -}}
{{- if .Release.IsUpgrade }}
{{- $jobs := lookup "batch/v1" "Job" .Release.Namespace "" }}
{{- range ($jobs.items | default list) }}
{{- $labels := .metadata.labels | default dict }}
{{- if and (eq (index $labels "app.kubernetes.io/instance" | default "") $.Release.Name) (eq (index $labels "app.kubernetes.io/component" | default "") "migrate") (gt (int (.status.active | default 0)) 0) (eq (int (.status.failed | default 0)) 0) }}
{{- fail (printf "the migration Job %s is still running, and this upgrade would delete it mid-migration: wait for it (kubectl -n %s wait --for=condition=complete job/%s --timeout=10m), then upgrade again; if it is stuck, read its logs (kubectl -n %s logs job/%s) and delete it (kubectl -n %s delete job %s) first" .metadata.name $.Release.Namespace .metadata.name $.Release.Namespace .metadata.name $.Release.Namespace .metadata.name) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Refuses, on an upgrade, the changes the in-chart PostgreSQL cannot take (bitnami's
charts do the same): a new password (PostgreSQL reads POSTGRES_PASSWORD only when it
initialises an empty volume, so the api would be locked out), a lost Secret (a new
password would be generated), and a different volume (a StatefulSet's
volumeClaimTemplates cannot change). Each message says what to do instead.
*/}}
{{- define "api-platform.upgradeGuards" -}}
{{- if and .Release.IsUpgrade .Values.postgresql.enabled }}
{{- $statefulSet := lookup "apps/v1" "StatefulSet" .Release.Namespace (include "api-platform.postgresqlName" .) }}
{{- if $statefulSet }}
{{- if not .Values.database.existingSecret }}
{{- $secretName := include "api-platform.databaseSecretName" . }}
{{- $live := lookup "v1" "Secret" .Release.Namespace $secretName }}
{{- $livePassword := "" }}
{{- if and $live $live.data (hasKey $live.data "password") }}
{{- $livePassword = index $live.data "password" | b64dec }}
{{- end }}
{{- if and (not $livePassword) (not .Values.database.password) }}
{{- fail (printf "the Secret %s holding the database password is gone, but PostgreSQL keeps the password it was initialised with: restore the Secret, or pass that password with --set database.password=..." $secretName) }}
{{- end }}
{{- if and $livePassword .Values.database.password (ne $livePassword .Values.database.password) }}
{{- fail (printf "database.password differs from the password PostgreSQL was initialised with (in the Secret %s), and PostgreSQL reads it only on an empty volume: change it inside PostgreSQL first (ALTER ROLE %s PASSWORD '...'), then upgrade with the new password" $secretName .Values.database.user) }}
{{- end }}
{{- end }}
{{- $liveClaims := $statefulSet.spec.volumeClaimTemplates | default list }}
{{- $wantsVolume := .Values.postgresql.persistence.enabled }}
{{- if ne (len $liveClaims | int) (ternary 1 0 $wantsVolume) }}
{{- fail (printf "postgresql.persistence.enabled cannot change on an installed release (a StatefulSet's volumes are fixed): move the data with pg_dump and pg_restore into a new release, or keep the setting") }}
{{- end }}
{{- if $wantsVolume }}
{{- $claim := index $liveClaims 0 }}
{{- $liveSize := $claim.spec.resources.requests.storage }}
{{- if ne (toString $liveSize) (toString .Values.postgresql.persistence.size) }}
{{- fail (printf "postgresql.persistence.size cannot change on an installed release (%s now, %s asked): grow the claim itself (kubectl patch pvc data-%s-0 -p '{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"%s\"}}}}', if its storage class allows expansion), then kubectl delete statefulset %s --cascade=orphan, then upgrade" $liveSize .Values.postgresql.persistence.size (include "api-platform.postgresqlName" .) .Values.postgresql.persistence.size (include "api-platform.postgresqlName" .)) }}
{{- end }}
{{- if ne (toString ($claim.spec.storageClassName | default "")) (toString (.Values.postgresql.persistence.storageClass | default ($claim.spec.storageClassName | default ""))) }}
{{- fail (printf "postgresql.persistence.storageClass cannot change on an installed release: move the data with pg_dump and pg_restore, or keep %q" ($claim.spec.storageClassName | default "")) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The part of the api container every api-image pod shares (Deployment, init steps,
migration Job, helm test): image, settings from the ConfigMap, the password from the
Secret, and the restricted security context.
*/}}
{{- define "api-platform.apiContainerBase" -}}
{{- $root := .root }}
image: {{ include "api-platform.image" $root | quote }}
imagePullPolicy: {{ $root.Values.image.pullPolicy }}
envFrom:
  - configMapRef:
      name: {{ include "api-platform.apiName" $root }}
{{- with include "api-platform.secretFileEnv" . }}
env:
  {{- . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $root.Values.containerSecurityContext | nindent 2 }}
{{- with include "api-platform.mounts" . }}
volumeMounts:
  {{- . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
What an api-image container reads from files, by need (`.needs`, a list): "database"
(the owner's password: migrations and waits), "app-database" (the server's credentials:
database.appUser and its password, or the owner's when appUser is empty), "app-role"
(appUser and its password, for `migrate` to keep the role), "auth" (the signing key and
the bootstrap admin's password), "ca" (the database's CA bundle, when database.tls names
one), "amqp" (the broker password: the worker), "tmp" (a writable /tmp). Secrets reach containers as files, never as environment
variables, and each container mounts only what it uses: `serve` its own role's password
and the auth keys, the migration Job and init steps the owner's password, helm test
nothing. Three helpers share the table: the env vars naming the files, the mounts, the
pod's volumes (a pod lists what all its containers need).
*/}}
{{- define "api-platform.needsOwnerPassword" -}}
{{- if or (has "database" .needs) (and (has "app-database" .needs) (not .root.Values.database.appUser)) }}true{{ end }}
{{- end }}

{{- define "api-platform.needsAppPassword" -}}
{{- if and .root.Values.database.appUser (or (has "app-database" .needs) (has "app-role" .needs)) }}true{{ end }}
{{- end }}

{{- define "api-platform.databaseCAPath" -}}
{{- if or .Values.database.tls.caConfigMap .Values.database.tls.caSecret -}}
/etc/api/database-ca/{{ .Values.database.tls.caKey }}
{{- end }}
{{- end }}

{{- define "api-platform.secretFileEnv" -}}
{{- $root := .root }}
{{- $appUser := $root.Values.database.appUser }}
{{- if include "api-platform.needsOwnerPassword" . }}
- name: DB_PASSWORD_FILE
  value: /etc/api/secrets/database/password
{{- end }}
{{- if and (has "app-database" .needs) $appUser }}
# The server's own role; the ConfigMap's DB_USER (the owner) is for migrations and waits.
- name: DB_USER
  value: {{ $appUser | quote }}
- name: DB_PASSWORD_FILE
  value: /etc/api/secrets/database-app/password
{{- end }}
{{- if and (has "app-role" .needs) $appUser }}
- name: DB_APP_USER
  value: {{ $appUser | quote }}
- name: DB_APP_PASSWORD_FILE
  value: /etc/api/secrets/database-app/password
{{- end }}
{{- if and (has "redis" .needs) (include "api-platform.redisUrl" $root) }}
- name: REDIS_PASSWORD_FILE
  value: /etc/api/secrets/redis/password
{{- end }}
{{- if has "amqp" .needs }}
- name: AMQP_PASSWORD_FILE
  value: /etc/api/secrets/amqp/password
{{- end }}
{{- if has "auth" .needs }}
- name: JWT_SECRET_FILE
  value: /etc/api/secrets/auth/jwt-secret
{{- if $root.Values.auth.bootstrapAdmin }}
- name: ADMIN_PASSWORD_FILE
  value: /etc/api/secrets/auth/admin-password
{{- end }}
{{- end }}
{{- end }}

{{- define "api-platform.mounts" -}}
{{- $root := .root }}
{{- if has "tmp" .needs }}
- name: tmp
  mountPath: /tmp
{{- end }}
{{- if include "api-platform.needsOwnerPassword" . }}
- name: database-password
  mountPath: /etc/api/secrets/database
  readOnly: true
{{- end }}
{{- if include "api-platform.needsAppPassword" . }}
- name: database-app-password
  mountPath: /etc/api/secrets/database-app
  readOnly: true
{{- end }}
{{- if has "auth" .needs }}
- name: auth
  mountPath: /etc/api/secrets/auth
  readOnly: true
{{- end }}
{{- if and (has "redis" .needs) (include "api-platform.redisUrl" $root) }}
- name: redis-password
  mountPath: /etc/api/secrets/redis
  readOnly: true
{{- end }}
{{- if has "amqp" .needs }}
- name: amqp-password
  mountPath: /etc/api/secrets/amqp
  readOnly: true
{{- end }}
{{- if and (has "ca" .needs) (include "api-platform.databaseCAPath" $root) }}
- name: database-ca
  mountPath: /etc/api/database-ca
  readOnly: true
{{- end }}
{{- end }}

{{- define "api-platform.volumes" -}}
{{- $root := .root }}
{{- if has "tmp" .needs }}
- name: tmp
  emptyDir:
    sizeLimit: 16Mi
{{- end }}
{{- if include "api-platform.needsOwnerPassword" . }}
- name: database-password
  secret:
    secretName: {{ include "api-platform.databaseSecretName" $root }}
    # Group-readable: the pod runs as its own uid, and fsGroup owns the files.
    defaultMode: 0440
    items:
      - key: {{ include "api-platform.databasePasswordKey" $root }}
        path: password
{{- end }}
{{- if include "api-platform.needsAppPassword" . }}
- name: database-app-password
  secret:
    secretName: {{ include "api-platform.databaseSecretName" $root }}
    defaultMode: 0440
    items:
      - key: {{ include "api-platform.appPasswordKey" $root }}
        path: password
{{- end }}
{{- if has "auth" .needs }}
- name: auth
  secret:
    secretName: {{ include "api-platform.authSecretName" $root }}
    # Group-readable: the pod runs as its own uid, and fsGroup owns the files.
    defaultMode: 0440
    items:
      - key: jwt-secret
        path: jwt-secret
      {{- if $root.Values.auth.bootstrapAdmin }}
      - key: admin-password
        path: admin-password
      {{- end }}
{{- end }}
{{- if and (has "redis" .needs) (include "api-platform.redisUrl" $root) }}
- name: redis-password
  secret:
    secretName: {{ include "api-platform.redisSecretName" $root }}
    defaultMode: 0440
    items:
      - key: {{ include "api-platform.redisPasswordKey" $root }}
        path: password
{{- end }}
{{- if has "amqp" .needs }}
- name: amqp-password
  secret:
    secretName: {{ include "api-platform.rabbitmqSecretName" $root }}
    defaultMode: 0440
    items:
      - key: {{ include "api-platform.rabbitmqPasswordKey" $root }}
        path: password
{{- end }}
{{- if and (has "ca" .needs) (include "api-platform.databaseCAPath" $root) }}
{{- with $root.Values.database.tls }}
- name: database-ca
  {{- if .caSecret }}
  secret:
    secretName: {{ .caSecret }}
  {{- else }}
  configMap:
    name: {{ .caConfigMap }}
  {{- end }}
    items:
      - key: {{ .caKey }}
        path: {{ .caKey }}
{{- end }}
{{- end }}
{{- end }}

{{/* An init container that waits for PostgreSQL (and, with migrations, for the schema). */}}
{{- define "api-platform.waitForDatabase" -}}
- name: wait-for-database
  {{- include "api-platform.apiContainerBase" (dict "root" .root "needs" (list "database" "ca")) | nindent 2 }}
  args:
    - wait-db
    - --timeout
    - {{ .root.Values.waitForDatabase.timeout | quote }}
    {{- if .forMigrations }}
    - --for-migrations
    {{- end }}
  resources:
    {{- toYaml .root.Values.waitForDatabase.resources | nindent 4 }}
{{- end }}

{{/* Pod-level settings shared by every pod running the api image. */}}
{{- define "api-platform.apiPodBase" -}}
serviceAccountName: {{ include "api-platform.serviceAccountName" . }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Refuses, on an upgrade, what the in-chart RabbitMQ cannot take, as for PostgreSQL: a lost
Secret (a new password would be generated, and the broker keeps the user it created on
its first start) and a different volume (a StatefulSet's volumeClaimTemplates cannot
change). Each message says what to do instead.
*/}}
{{- define "api-platform.rabbitmqGuard" -}}
{{- if and .Release.IsUpgrade .Values.worker.enabled .Values.rabbitmq.enabled }}
{{- $name := include "api-platform.rabbitmqName" . }}
{{- $statefulSet := lookup "apps/v1" "StatefulSet" .Release.Namespace $name }}
{{- if $statefulSet }}
{{- if not .Values.rabbitmq.existingSecret }}
{{- $live := lookup "v1" "Secret" .Release.Namespace $name }}
{{- if not (and $live $live.data (hasKey $live.data "rabbitmq-password")) }}
{{- fail (printf "the Secret %s holding the RabbitMQ password is gone, but the broker keeps the user it created with the old one: restore the Secret, or change the password inside RabbitMQ (kubectl -n %s exec %s-0 -- rabbitmqctl change_password %s ...) and pass it in a Secret of your own (rabbitmq.existingSecret)" $name .Release.Namespace $name .Values.rabbitmq.user) }}
{{- end }}
{{- end }}
{{- $liveClaims := $statefulSet.spec.volumeClaimTemplates | default list }}
{{- if ne (len $liveClaims | int) (ternary 1 0 .Values.rabbitmq.persistence.enabled) }}
{{- fail "rabbitmq.persistence.enabled cannot change on an installed release (a StatefulSet's volumes are fixed): let the worker drain the queue (worker_outbox_lag and the queue at 0), then kubectl delete statefulset and its claim, and upgrade" }}
{{- end }}
{{- if .Values.rabbitmq.persistence.enabled }}
{{- $liveSize := (index $liveClaims 0).spec.resources.requests.storage }}
{{- if ne (toString $liveSize) (toString .Values.rabbitmq.persistence.size) }}
{{- fail (printf "rabbitmq.persistence.size cannot change on an installed release (%s now, %s asked): grow the claim itself (kubectl patch pvc data-%s-0 -p '{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"%s\"}}}}', if its storage class allows expansion), then kubectl delete statefulset %s --cascade=orphan, then upgrade" $liveSize .Values.rabbitmq.persistence.size $name .Values.rabbitmq.persistence.size $name) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
