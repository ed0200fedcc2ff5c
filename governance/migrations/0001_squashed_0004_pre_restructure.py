"""Governance's migrations 0001-0004 (before the restructure) in one: the tables as they ended,
then the GDPR Art. 6(1) and Art. 9(2) reference rows. A database that applied 0001-0004 counts
this as applied (`replaces`)."""

import core.dates
import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from governance.choices import GDPR_ARTICLES


def seed_articles(apps, schema_editor):
    Article = apps.get_model("governance", "LegalBasisArticle")
    for article, point, title, needs_law in GDPR_ARTICLES:
        Article.objects.update_or_create(
            article=article, point=point, defaults={"title": title, "needs_law": needs_law}
        )


class Migration(migrations.Migration):

    replaces = [('governance', '0001_initial'), ('governance', '0002_gdpr_articles'), ('governance', '0003_committee_automatic_policies'), ('governance', '0004_date_bounds')]

    initial = True

    dependencies = [
        ('auth', '0012_alter_user_first_name_max_length'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='OntologyRelease',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('ontology', models.CharField(choices=[('DUO', 'Data Use Ontology'), ('DOID', 'Human Disease Ontology')], max_length=8, unique=True)),
                ('source_sha256', models.CharField(max_length=64)),
                ('term_count', models.PositiveIntegerField()),
                ('loaded_at', models.DateTimeField()),
            ],
        ),
        migrations.CreateModel(
            name='DataAccessCommittee',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=200, unique=True)),
                ('slug', models.SlugField(max_length=60, unique=True)),
                ('description', models.TextField(blank=True)),
                ('contact_email', models.EmailField(max_length=254)),
                ('decision_policy', models.CharField(choices=[('single', 'Single decider (any chair or member)'), ('chair', 'Chair decides'), ('majority', 'Majority of votes with a quorum'), ('unanimity', 'Unanimity of votes with a quorum')], default='chair', max_length=16)),
                ('quorum', models.PositiveSmallIntegerField(default=1, help_text='Votes needed before a majority or unanimity decision may be taken.', validators=[django.core.validators.MinValueValidator(1)])),
                ('requires_ethics_approval', models.BooleanField(default=True)),
                ('member_group', models.OneToOneField(editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='committee', to='auth.group')),
            ],
            options={
                'verbose_name': 'data access committee',
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='LegalBasisArticle',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('article', models.CharField(choices=[('6', 'Art. 6(1) lawfulness of processing'), ('9', 'Art. 9(2) special categories of personal data')], max_length=1)),
                ('point', models.CharField(max_length=1)),
                ('title', models.CharField(max_length=200)),
                ('needs_law', models.BooleanField(default=False, help_text='The point requires a Union or Member State law as its basis.')),
            ],
            options={
                'ordering': ['article', 'point'],
                'constraints': [models.UniqueConstraint(fields=('article', 'point'), name='gdpr_article_point_unique')],
            },
        ),
        migrations.CreateModel(
            name='LegalBasis',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=200)),
                ('law_reference', models.CharField(blank=True, help_text='The Union or Member State law relied on, where Art. 6(1)(c)/(e) or Art. 9(2)(g)-(j) require one.', max_length=500)),
                ('notes', models.TextField(blank=True)),
                ('article6', models.ForeignKey(limit_choices_to={'article': '6'}, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance.legalbasisarticle', verbose_name='Art. 6(1) ground')),
                ('article9', models.ForeignKey(blank=True, help_text='Required for special-category (health) data.', limit_choices_to={'article': '9'}, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance.legalbasisarticle', verbose_name='Art. 9(2) condition')),
            ],
            options={
                'verbose_name_plural': 'legal bases',
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='OntologyTerm',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('curie', models.CharField(max_length=32, unique=True)),
                ('ontology', models.CharField(choices=[('DUO', 'Data Use Ontology'), ('DOID', 'Human Disease Ontology')], db_index=True, max_length=8)),
                ('label', models.CharField(db_index=True, max_length=255)),
                ('shorthand', models.CharField(blank=True, db_index=True, max_length=16)),
                ('description', models.TextField(blank=True)),
                ('duo_kind', models.CharField(blank=True, choices=[('permission', 'Permission'), ('modifier', 'Modifier'), ('other', 'Other')], max_length=16)),
                ('obsolete', models.BooleanField(default=False)),
                ('parents', models.ManyToManyField(blank=True, related_name='children', to='governance.ontologyterm')),
            ],
            options={
                'ordering': ['ontology', 'curie'],
            },
        ),
        migrations.CreateModel(
            name='ConsentScope',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text='A short name stewards recognise.', max_length=200)),
                ('region', models.JSONField(blank=True, default=list, help_text='For GS: ISO 3166-1 alpha-2 codes, or the groups EU and EEA.')),
                ('moratorium_until', models.DateField(blank=True, help_text='For MOR.', null=True)),
                ('time_limit_months', models.PositiveSmallIntegerField(blank=True, help_text='For TS.', null=True, validators=[django.core.validators.MinValueValidator(1)])),
                ('named_users', models.TextField(blank=True, help_text='For US: one per line.')),
                ('named_projects', models.TextField(blank=True, help_text='For PS: one per line.')),
                ('named_institutions', models.TextField(blank=True, help_text='For IS: one per line.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('diseases', models.ManyToManyField(blank=True, help_text='Required for disease-specific research (DS), forbidden otherwise.', limit_choices_to={'ontology': 'DOID'}, related_name='consent_scopes', to='governance.ontologyterm')),
                ('modifiers', models.ManyToManyField(blank=True, limit_choices_to={'duo_kind': 'modifier', 'obsolete': False, 'ontology': 'DUO'}, related_name='+', to='governance.ontologyterm')),
                ('permission', models.ForeignKey(limit_choices_to={'duo_kind': 'permission', 'obsolete': False, 'ontology': 'DUO'}, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance.ontologyterm')),
            ],
            options={
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='Organisation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=200, unique=True)),
                ('country', models.CharField(max_length=2, validators=[django.core.validators.RegexValidator('^[A-Z]{2}$', 'Use an ISO 3166-1 alpha-2 country code, e.g. NL.')])),
                ('ror_id', models.CharField(blank=True, max_length=9, validators=[django.core.validators.RegexValidator('^0[a-z0-9]{6}[0-9]{2}$', 'A ROR id looks like 05wg1m734.')], verbose_name='ROR id')),
                ('dpo_name', models.CharField(blank=True, max_length=200, verbose_name='DPO name')),
                ('dpo_email', models.EmailField(max_length=254, verbose_name='DPO e-mail')),
                ('steward_group', models.OneToOneField(editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='stewarded_organisation', to='auth.group')),
                ('stewards', models.ManyToManyField(blank=True, related_name='stewarded_organisations', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='Dataset',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('accession', models.CharField(editable=False, max_length=16, null=True, unique=True)),
                ('title', models.CharField(max_length=300)),
                ('description', models.TextField(blank=True)),
                ('species', models.CharField(choices=[('human', 'Human'), ('animal', 'Laboratory animal')], db_index=True, max_length=8)),
                ('organ', models.CharField(db_index=True, max_length=100, verbose_name='organ / tissue')),
                ('stains', models.CharField(blank=True, help_text='Comma-separated, e.g. H&E, Ki-67', max_length=200)),
                ('scanner', models.CharField(blank=True, max_length=200)),
                ('slide_count', models.PositiveIntegerField(default=0)),
                ('total_bytes', models.PositiveBigIntegerField(default=0)),
                ('storage_location', models.CharField(help_text='Where the storage tier keeps the slides, e.g. s3://bucket/prefix', max_length=500)),
                ('status', models.CharField(choices=[('draft', 'Draft'), ('published', 'Published'), ('retired', 'Retired')], db_index=True, default='draft', editable=False, max_length=16)),
                ('retention_until', models.DateField(blank=True, null=True, verbose_name='retention end')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('published_at', models.DateTimeField(blank=True, editable=False, null=True)),
                ('retired_at', models.DateTimeField(blank=True, editable=False, null=True)),
                ('committee', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='datasets', to='governance.dataaccesscommittee')),
                ('consent_scope', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='datasets', to='governance.consentscope')),
                ('legal_basis', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='datasets', to='governance.legalbasis')),
                ('controller', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='datasets', to='governance.organisation')),
            ],
            options={
                'ordering': ['accession'],
                'permissions': [('publish_dataset', 'Can publish or retire a dataset')],
            },
        ),
        migrations.AddField(
            model_name='dataaccesscommittee',
            name='organisation',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='committees', to='governance.organisation'),
        ),
        migrations.CreateModel(
            name='CommitteeMembership',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('role', models.CharField(choices=[('chair', 'Chair'), ('member', 'Member'), ('secretary', 'Secretary')], default='member', max_length=16)),
                ('joined_at', models.DateTimeField(auto_now_add=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='committee_memberships', to=settings.AUTH_USER_MODEL)),
                ('committee', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='governance.dataaccesscommittee')),
            ],
            options={
                'ordering': ['committee', 'role', 'user'],
                'constraints': [models.UniqueConstraint(fields=('committee', 'user'), name='one_seat_per_committee')],
            },
        ),
        migrations.CreateModel(
            name='AccessAgreement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('version', models.PositiveIntegerField(editable=False)),
                ('title', models.CharField(max_length=200)),
                ('text', models.TextField()),
                ('status', models.CharField(choices=[('draft', 'Draft'), ('published', 'Published'), ('superseded', 'Superseded')], default='draft', editable=False, max_length=16)),
                ('published_at', models.DateTimeField(blank=True, editable=False, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('committee', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='agreements', to='governance.dataaccesscommittee')),
                ('dataset', models.ForeignKey(blank=True, help_text="Leave empty for the committee's agreement for all its datasets.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='specific_agreements', to='governance.dataset')),
            ],
            options={
                'ordering': ['committee', 'dataset', '-version'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('dataset__isnull', True)), fields=('committee', 'version'), name='agreement_committee_version_unique'), models.UniqueConstraint(condition=models.Q(('dataset__isnull', False)), fields=('dataset', 'version'), name='agreement_dataset_version_unique'), models.UniqueConstraint(condition=models.Q(('dataset__isnull', True), ('status', 'published')), fields=('committee',), name='one_current_committee_agreement'), models.UniqueConstraint(condition=models.Q(('dataset__isnull', False), ('status', 'published')), fields=('dataset',), name='one_current_dataset_agreement')],
            },
        ),
        migrations.CreateModel(
            name='OntologyAncestry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('distance', models.PositiveSmallIntegerField()),
                ('ancestor', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='descendancy', to='governance.ontologyterm')),
                ('term', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='ancestry', to='governance.ontologyterm')),
            ],
            options={
                'verbose_name_plural': 'ontology ancestries',
                'indexes': [models.Index(fields=['ancestor', 'term'], name='governance__ancesto_a36afd_idx')],
                'constraints': [models.UniqueConstraint(fields=('term', 'ancestor'), name='ontology_ancestry_unique')],
            },
        ),
        migrations.CreateModel(
            name='DatasetParty',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('role', models.CharField(choices=[('controller', 'Controller'), ('joint_controller', 'Joint controller'), ('processor', 'Processor')], max_length=20)),
                ('dataset', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='parties', to='governance.dataset')),
                ('organisation', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance.organisation')),
            ],
            options={
                'verbose_name_plural': 'dataset parties',
                'constraints': [models.UniqueConstraint(fields=('dataset', 'organisation'), name='one_role_per_party')],
            },
        ),
        migrations.AddIndex(
            model_name='dataset',
            index=models.Index(fields=['status', 'accession'], name='governance__status_b9f1eb_idx'),
        ),
        migrations.AddField(
            model_name='dataaccesscommittee',
            name='auto_approve_matching',
            field=models.BooleanField(default=False, help_text='Grants then run for the requested duration.', verbose_name='automatically approve when every verdict is approve and nothing needs a person'),
        ),
        migrations.AddField(
            model_name='dataaccesscommittee',
            name='auto_reject_denied',
            field=models.BooleanField(default=False, verbose_name="automatically reject when a dataset's consent match is deny"),
        ),
        migrations.AlterField(
            model_name='consentscope',
            name='moratorium_until',
            field=models.DateField(blank=True, help_text='For MOR.', null=True, validators=[core.dates.DateWithinYears(25)]),
        ),
        migrations.AlterField(
            model_name='dataset',
            name='retention_until',
            field=models.DateField(blank=True, null=True, validators=[core.dates.DateWithinYears(100)], verbose_name='retention end'),
        ),
        migrations.RunPython(seed_articles, migrations.RunPython.noop),
    ]
